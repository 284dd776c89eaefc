"""Layer 1: identity. Turns a connection into one credential; nothing else touches auth."""
