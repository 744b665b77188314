"""Frame archive: confident frames (boxes drawn) and uncertain frames (raw) to Blob Storage.

`routing` decides where a frame goes, `textdetector.drawing` draws it, `encoding`
encodes it, `naming` builds sortable blob names and metadata, `uploader` delivers on its
own thread, `sink` ties them into a pipeline sink.
"""

from .routing import Route, route
from .sink import ArchiveSink
from .uploader import Uploader, UploadStats

__all__ = ["ArchiveSink", "Route", "Uploader", "UploadStats", "route"]
