from django.conf import settings


def portal(request):
    """What every page shows whatever the apps: the site's name. The apps add their own (see TEMPLATES)."""
    return {"site_name": settings.SITE_NAME}
