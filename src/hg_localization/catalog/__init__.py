"""The web catalog: pages a person browses, and a JSON API, on the Hub-compatible server.

::

    sources.py   where repos come from (CatalogSource; SourceCatalog over any served Source)
    collection_views.py   the collections manifest: each entry present here, or missing
    index.py     Catalog: every source in one index, searched and filtered per visitor
    cards.py     a card rendered as markdown that runs nothing; front matter and config tables
    compare.py   two configs side by side
    views.py     what a repo page shows (shared by the pages and the API)
    pages.py     the HTML pages      api.py, schemas.py, openapi.py   the JSON API
    access.py    read tokens: the Authorization header or the token form's cookie
    paths.py     the page URLs       web.py   templates, headers, static files
    routes.py    catalog_app(): the server with the catalog's routes before the Hub API
"""

from hg_localization.catalog.index import Catalog, Query
from hg_localization.catalog.routes import catalog_app, catalog_routes, default_catalog
from hg_localization.catalog.sources import CatalogSource, SourceCatalog

__all__ = [
    "Catalog",
    "CatalogSource",
    "Query",
    "SourceCatalog",
    "catalog_app",
    "catalog_routes",
    "default_catalog",
]
