"""URLs of the IPROG (/api/v1/...) and Semaphore (/api/v4/...) compatible endpoints.

Every path answers with and without a trailing slash, directly (clients such as the `semaphore-sms` package call
".../messages/" with redirects off), so they are `re_path`s with an optional slash and never reach APPEND_SLASH.
`portal/urls.py` includes `iprog_urlpatterns` before the native /api/v1/ include.
"""

from django.urls import re_path

from messaging.compat import iprog, semaphore

iprog_urlpatterns = [
    re_path(r"^sms_messages/?$", iprog.SmsMessageSendAPI.as_view(), name="iprog_sms_messages"),
    re_path(r"^sms_messages/send_bulk/?$", iprog.SmsMessageSendBulkAPI.as_view(), name="iprog_send_bulk"),
    re_path(r"^sms_messages/status/?$", iprog.SmsMessageStatusAPI.as_view(), name="iprog_status"),
    re_path(r"^account/sms_credits/?$", iprog.SmsCreditsAPI.as_view(), name="iprog_sms_credits"),
    re_path(r"^otp/send_otp/?$", iprog.OtpSendAPI.as_view(), name="iprog_send_otp"),
    re_path(r"^otp/verify_otp/?$", iprog.OtpVerifyAPI.as_view(), name="iprog_verify_otp"),
]

semaphore_urlpatterns = [
    re_path(r"^messages/?$", semaphore.MessagesAPI.as_view(), name="semaphore_messages"),
    re_path(
        r"^messages/(?P<message_id>[0-9]{1,18})/?$", semaphore.MessageDetailAPI.as_view(), name="semaphore_message"
    ),
    re_path(r"^priority/?$", semaphore.PriorityAPI.as_view(), name="semaphore_priority"),
    re_path(r"^otp/?$", semaphore.OtpAPI.as_view(), name="semaphore_otp"),
    re_path(r"^account/?$", semaphore.AccountAPI.as_view(), name="semaphore_account"),
    re_path(r"^account/transactions/?$", semaphore.TransactionsAPI.as_view(), name="semaphore_transactions"),
    re_path(r"^account/sendernames/?$", semaphore.SenderNamesAPI.as_view(), name="semaphore_sendernames"),
    re_path(r"^account/users/?$", semaphore.UsersAPI.as_view(), name="semaphore_users"),
]
