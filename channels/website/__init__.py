"""The public website: static pages and RSS/Atom feeds built from the store.

``builder.SiteBuilder`` writes the site; ``channel.WebsiteChannel`` (registered as ``website``)
rebuilds what a release touches. Nothing is imported here, so that reading the settings
(``config``) does not load the builder.
"""
