"""Channel adapters behind one interface (channels.base), an explicit registry, and
channels.sandbox: emulators of the external services."""
