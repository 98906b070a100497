"""The SMS providers behind one small interface (:class:`~channels.sms.providers.base.Provider`)."""
