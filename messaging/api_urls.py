from django.urls import path

from messaging import api, api_webhooks

urlpatterns = [
    path("messages", api.MessageListCreateAPI.as_view(), name="api_messages"),
    path("messages/explain", api.RouteExplainAPI.as_view(), name="api_messages_explain"),
    path("messages/<int:message_id>", api.MessageDetailAPI.as_view(), name="api_message_detail"),
    path("messages/<int:message_id>/cancel", api.MessageCancelAPI.as_view(), name="api_message_cancel"),
    path("otp/send", api.OtpSendAPI.as_view(), name="api_otp_send"),
    path("otp/verify", api.OtpVerifyAPI.as_view(), name="api_otp_verify"),
    path("notices", api.NoticeListAPI.as_view(), name="api_notices"),
    path("webhook", api.WebhookEndpointAPI.as_view(), name="api_webhook"),
    path("webhook/deliveries", api.WebhookDeliveryListAPI.as_view(), name="api_webhook_deliveries"),
    path("webhook/test", api_webhooks.WebhookTestAPI.as_view(), name="api_webhook_test"),
    path(
        "webhook/deliveries/<int:delivery_id>",
        api_webhooks.WebhookDeliveryDetailAPI.as_view(),
        name="api_webhook_delivery",
    ),
    path(
        "webhook/deliveries/<int:delivery_id>/retry",
        api_webhooks.WebhookDeliveryRetryAPI.as_view(),
        name="api_webhook_delivery_retry",
    ),
    path(
        "callbacks/<slug:adapter>/<int:provider_id>/<str:secret>",
        api.DeliveryCallbackAPI.as_view(),
        name="api_delivery_callback",
    ),
]
