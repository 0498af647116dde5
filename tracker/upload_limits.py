"""The upload limits, one per kind of file, stated once in words for analysts (no setting names): every page that
takes or mentions an upload shows these sentences, so a limit reads the same wherever it is met.

The numbers are the ones enforced: the settings' limits capped by the web server's per-file upload limit
(tracker.image_checks.image_limit_bytes for images, the same rule as `facilities imagery import`), imagery.local's
pixel budget, and the article reader's file limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagery import local as local_imagery

from .image_checks import image_limit_bytes
from .settings import Settings

ARTICLE_MB = 10  # largest article file the Read articles page takes
OUTLINE_FORMATS = "GeoJSON, KML/KMZ, GeoPackage, FlatGeobuf, GeoParquet, CSV with WKT or a zipped Shapefile"


def articles_sentence(mb: int = ARTICLE_MB) -> str:
    """The article files' limit (it depends on no setting)."""
    return f"Articles: up to {mb} MB a file."


@dataclass(frozen=True)
class UploadLimits:
    """The limits in MB and the sentence that states each."""

    outline_mb: int
    image_mb: int
    article_mb: int
    session_mb: int

    @property
    def outlines(self) -> str:
        """The outline files' limit."""
        return f"Outlines: {OUTLINE_FORMATS}, up to {self.outline_mb} MB a file."

    @property
    def images(self) -> str:
        """The images' limit (file size and pixel budget)."""
        return (f"Images: GeoTIFF or COG with a coordinate system, up to {self.image_mb} MB a file, "
                f"{local_imagery.MAX_SIDE:,} pixels a side, {local_imagery.MAX_BANDS} bands and "
                f"{local_imagery.MAX_DECLARED_BYTES / 1024**3:.0f} GiB of pixels once decoded.")

    @property
    def articles(self) -> str:
        """The article files' limit."""
        return articles_sentence(self.article_mb)

    @property
    def held(self) -> str:
        """How much one browser session may hold before importing."""
        return f"Uploads wait in memory until imported: at most {self.session_mb} MB at once in one browser session."


def upload_limits(settings: Settings, server_mb: int | None = None) -> UploadLimits:
    """The limits these settings enforce, each capped by the web server's per-file upload limit (`server_mb`)."""
    cap = server_mb if server_mb is not None else max(settings.max_import_mb, settings.max_image_mb)
    return UploadLimits(outline_mb=min(settings.max_import_mb, cap),
                        image_mb=image_limit_bytes(settings, server_mb) // 2**20,
                        article_mb=min(ARTICLE_MB, cap),
                        session_mb=settings.max_session_upload_mb)
