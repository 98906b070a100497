"""The public website: static pages and RSS/Atom feeds built from the store.

``builder.SiteBuilder`` writes the site; ``channel.WebsiteChannel`` (registered as ``website``)
rebuilds what a release touches. Nothing heavy is imported here, so that reading the settings
(``config``) does not load the builder.
"""
from channels.extension import Extension, Panel

EXTENSION = Extension(
    name="website", label="网站", adapter="channels.website.channel",
    settings="channels.website.config:WebsiteSettings",
    web=("channels.website.search_web:install",),  # /search/: the no-JavaScript search fallback
    panels=(Panel("status", "网站状态", "channels.website.panel:status"),),
    local=True,
)
