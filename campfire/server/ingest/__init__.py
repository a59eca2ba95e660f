"""``campfire deploy``: pipeline products read, validated and loaded into an archive."""
