"""Where the archive keeps things: the database, its schema migrations and the file store."""
