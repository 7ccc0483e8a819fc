from django.urls import path

from messaging import api

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
    path(
        "callbacks/<slug:adapter>/<int:provider_id>/<str:secret>",
        api.DeliveryCallbackAPI.as_view(),
        name="api_delivery_callback",
    ),
]
