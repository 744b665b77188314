"""Review dashboard: browse archived frames in Blob Storage through this server only.

The browser never sees a key, a SAS or a connection string: listings, thumbnails and
images are fetched server-side and served from this process.
"""

__version__ = "0.1.0"
