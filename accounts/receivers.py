"""Records every sign-in attempt. Signals are the only hook Django and allauth offer for this; the work is a service."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts.models import User
from accounts.services import login_record_create


@receiver(user_logged_in, dispatch_uid="accounts.login_succeeded")
def _login_succeeded(sender, request, user, **kwargs):
    login_record_create(user=user, email_attempted=user.email, succeeded=True, request=request)


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("email") or credentials.get("username") or "")[:254]
    user = User.objects.filter(email__iexact=email).first() if email else None
    login_record_create(user=user, email_attempted=email, succeeded=False, request=request)
