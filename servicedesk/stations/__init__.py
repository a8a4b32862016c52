"""Service regions and repair stations."""
