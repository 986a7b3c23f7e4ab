"""Record to lead: the mapping settings, the mapping, field metadata and formats. No I/O."""
