"""Standard SDTM derivations, one concern per module, usable by any domain through the registry."""
