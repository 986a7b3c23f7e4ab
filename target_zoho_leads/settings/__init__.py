"""Settings: read, checked and defaulted once; their JSON schema."""
