"""The staff console: server-rendered Chinese pages under /console/ (see ``kit`` and ``app``)."""
