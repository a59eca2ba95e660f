"""The archive's catalog: aggregate rows, query filters, sky index, bands and cutout renders."""
