"""The project's URLs minus privacy.data_urls: proves the system check notices when export links cannot be built."""

from portal.urls import urlpatterns as project_urlpatterns

urlpatterns = [pattern for pattern in project_urlpatterns if getattr(pattern, "namespace", None) != "privacy_data"]
