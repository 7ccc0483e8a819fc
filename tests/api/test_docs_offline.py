"""The API reference works offline: its page names no outside host and its script is served by the site."""

import re

from django.contrib.staticfiles import finders


def test_the_api_reference_page_references_no_outside_host(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    hosts = set(re.findall(r"https?://([^/\"'\s]+)", html))
    assert hosts <= {"testserver"}, hosts
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts
    assert "redoc" in scripts[0]


def test_the_redoc_bundle_is_a_static_file_of_the_site():
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
