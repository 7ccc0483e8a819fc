from django.urls import path

from messaging import api, api_webhooks
from messaging.campaigns import api as campaigns_api
from messaging.contacts import api as contacts_api

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
    path("contacts", contacts_api.ContactListCreateAPI.as_view(), name="api_contacts"),
    path("contacts/import", contacts_api.ContactImportAPI.as_view(), name="api_contacts_import"),
    path("contacts/<int:contact_id>", contacts_api.ContactDetailAPI.as_view(), name="api_contact"),
    path("contact-groups", contacts_api.GroupListCreateAPI.as_view(), name="api_contact_groups"),
    path("contact-groups/<int:group_id>", contacts_api.GroupDetailAPI.as_view(), name="api_contact_group"),
    path("contact-groups/<int:group_id>/members", contacts_api.GroupMembersAPI.as_view(), name="api_group_members"),
    path("opt-outs", contacts_api.OptOutListCreateAPI.as_view(), name="api_opt_outs"),
    path("opt-outs/<int:opt_out_id>", contacts_api.OptOutDetailAPI.as_view(), name="api_opt_out"),
    path("templates", campaigns_api.TemplateListCreateAPI.as_view(), name="api_templates"),
    path("templates/<int:template_id>", campaigns_api.TemplateDetailAPI.as_view(), name="api_template"),
    path("campaigns", campaigns_api.CampaignListCreateAPI.as_view(), name="api_campaigns"),
    path("campaigns/<int:campaign_id>", campaigns_api.CampaignDetailAPI.as_view(), name="api_campaign"),
    path(
        "campaigns/<int:campaign_id>/preview", campaigns_api.CampaignPreviewAPI.as_view(), name="api_campaign_preview"
    ),
    path(
        "campaigns/<int:campaign_id>/confirm", campaigns_api.CampaignConfirmAPI.as_view(), name="api_campaign_confirm"
    ),
    path("campaigns/<int:campaign_id>/cancel", campaigns_api.CampaignCancelAPI.as_view(), name="api_campaign_cancel"),
    path(
        "callbacks/<slug:adapter>/<int:provider_id>/<str:secret>",
        api.DeliveryCallbackAPI.as_view(),
        name="api_delivery_callback",
    ),
]
