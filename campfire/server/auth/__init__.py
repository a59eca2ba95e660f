"""Who is asking and what they may see: access, credentials, users and browser sessions."""
