import pytest

from mairie.core.files.purposes import register_purpose, unregister_purpose


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes its files in its own folder, and no scanner unless it starts one."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""
    settings.MAIRIE_FILE_DELIVERY = "django"
    return settings.MEDIA_ROOT


@pytest.fixture
def attachment_purpose():
    """A purpose as a procedures module would declare it: PDF, JPEG, PNG up to 10 Mo."""
    purpose = register_purpose("tests.attachment",
                               allowed={"application/pdf", "image/jpeg", "image/png"},
                               max_bytes=10 * 1024 * 1024)
    yield purpose.name
    unregister_purpose(purpose.name)
