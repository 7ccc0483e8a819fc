"""Address book API: contacts (list, add, change, delete, import a CSV with a column mapping), groups and their
members, and the organization's opt-out list. Reading needs the `read` scope, writing the `send` scope. Lists are
cursor-paginated and filtered like every list of the API (`portal.api_lists`); another organization's id is a 404.
"""

from __future__ import annotations

import json

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission
from accounts.schema import ERROR, page_of
from messaging.contacts import importing, selectors, services
from messaging.contacts.api_examples import DESCRIPTIONS, EXAMPLES
from messaging.contacts.models import Contact
from messaging.contacts.selectors import number_hash
from portal.api_lists import PAGE_PARAMETERS, filtered, list_page_answer
from portal.errors import ApplicationError

WRITE = Permission.SEND_MESSAGES


# --- shapes ---


class ContactOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phone_number = serializers.CharField(help_text="E.164")
    name = serializers.CharField()
    fields = serializers.DictField(child=serializers.CharField(), help_text="Custom fields, usable as merge fields")
    tags = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_tags(self, contact) -> list[str]:
        return [tag.name for tag in contact.tags.all()]


class ContactInput(serializers.Serializer):
    phone_number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    fields = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list)


class ContactChangeInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    fields = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False)


class ContactImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8, with a header row")
    mapping = serializers.CharField(
        help_text='JSON object: column name -> "phone", "name", "field" or "skip"; unnamed columns are kept as fields'
    )
    group = serializers.CharField(required=False, allow_blank=True, default="", help_text="Group to add them to")
    tags = serializers.CharField(required=False, allow_blank=True, default="", help_text="Comma-separated")

    def validate_mapping(self, value):
        try:
            mapping = json.loads(value)
        except ValueError:
            raise serializers.ValidationError("Not JSON.")
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise serializers.ValidationError('A JSON object such as {"Mobile": "phone", "Full name": "name"}.')
        return mapping


class GroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class GroupInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class GroupMembersInput(serializers.Serializer):
    add = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    remove = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)


class OptOutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phone_number = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class OptOutInput(serializers.Serializer):
    phone_number = serializers.CharField(max_length=40)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ContactFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(method="by_tag")
    group = django_filters.NumberFilter(field_name="groups__id")
    phone = django_filters.CharFilter(method="by_phone")
    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Contact
        fields = ["tag", "group", "phone", "created_from", "created_to"]

    def by_tag(self, queryset, name, value):
        return queryset.filter(tags__name=value.strip().lower())

    def by_phone(self, queryset, name, value):
        return queryset.filter(phone_hash=number_hash(value))


# --- contacts ---


class ContactListCreateAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["contacts_list"],
        operation_id="contacts_list",
        summary="Contacts, newest first",
        description="Filters: `tag`, `group` (id), `phone` (any form: 0917…, +63917…), `created_from`, "
        "`created_to`. Needs the `read` scope.",
        parameters=[
            OpenApiParameter("tag", str),
            OpenApiParameter("group", int),
            OpenApiParameter("phone", str),
            OpenApiParameter("created_from", OpenApiTypes.DATETIME),
            OpenApiParameter("created_to", OpenApiTypes.DATETIME),
            *PAGE_PARAMETERS,
        ],
        responses={200: page_of("ContactPageOutput", ContactOutput), 400: ERROR},
    )
    def get(self, request):
        queryset = filtered(ContactFilter, request.query_params, selectors.contact_list(organization=self.organization))
        return Response(list_page_answer(request, queryset.distinct(), ContactOutput))

    @extend_schema(
        examples=EXAMPLES["contacts_create"],
        operation_id="contacts_create",
        summary="Add a contact",
        description="409 `duplicate_contact` when the number (in any form) is already a contact. Needs `send`.",
        request=ContactInput,
        responses={201: ContactOutput, 400: ERROR, 409: ERROR},
    )
    def post(self, request):
        serializer = ContactInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = services.contact_create(
            organization=self.organization,
            actor=self.acting_person,
            phone_number=data["phone_number"],
            name=data["name"],
            fields=data["fields"],
            tags=data["tags"],
        )
        contact = selectors.contact_get(organization=self.organization, contact_id=contact.pk)
        return Response(ContactOutput(contact).data, status=201)


class ContactDetailAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(
        examples=EXAMPLES["contacts_get"],
        description=DESCRIPTIONS["contacts_get"],
        operation_id="contacts_get",
        summary="One contact",
        responses={200: ContactOutput, 404: ERROR},
    )
    def get(self, request, contact_id: int):
        return Response(
            ContactOutput(selectors.contact_get(organization=self.organization, contact_id=contact_id)).data
        )

    @extend_schema(
        examples=EXAMPLES["contacts_update"],
        description=DESCRIPTIONS["contacts_update"],
        operation_id="contacts_update",
        summary="Change a contact's name, fields or tags (each replaced as given)",
        request=ContactChangeInput,
        responses={200: ContactOutput, 400: ERROR, 404: ERROR},
    )
    def patch(self, request, contact_id: int):
        serializer = ContactChangeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.contact_update(
            organization=self.organization, actor=self.acting_person, contact_id=contact_id, **serializer.validated_data
        )
        return Response(
            ContactOutput(selectors.contact_get(organization=self.organization, contact_id=contact_id)).data
        )

    @extend_schema(
        examples=EXAMPLES["contacts_delete"],
        description=DESCRIPTIONS["contacts_delete"],
        operation_id="contacts_delete",
        summary="Delete a contact",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request, contact_id: int):
        services.contact_delete(organization=self.organization, actor=self.acting_person, contact_id=contact_id)
        return Response(status=204)


class ContactImportAPI(OrganizationAPIView):
    required_permissions = {"POST": WRITE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        examples=EXAMPLES["contacts_import"],
        operation_id="contacts_import",
        summary="Import contacts from a CSV file with a column mapping",
        description=(
            "Multipart form: `file`, `mapping` (JSON: which column is the `phone`, which the `name`, which to "
            '`skip`; the other columns are kept as custom fields, e.g. `{"Mobile": "phone", "Full name": "name"}`), '
            "optional `group` (name; created when new) and `tags` (comma-separated). A number already in the address "
            "book updates that contact. Bad numbers are reported by row in `errors` and skipped. Needs `send`."
        ),
        request={"multipart/form-data": ContactImportInput},
        responses={
            200: inline_serializer(
                "ContactImportOutput",
                {
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "duplicates_in_file": serializers.IntegerField(),
                    "invalid": serializers.IntegerField(),
                    "group_id": serializers.IntegerField(allow_null=True),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            ),
            400: ERROR,
        },
    )
    def post(self, request):
        serializer = ContactImportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        if upload.size > importing.MAX_IMPORT_BYTES:
            raise ApplicationError("The file is too large.", code="file_too_large")
        result = importing.contacts_import(
            organization=self.organization,
            actor=self.acting_person,
            api_key=self.api_key,
            data=b"".join(upload.chunks()),
            mapping=data["mapping"],
            group_name=data["group"],
            tags=[t for t in data["tags"].split(",") if t.strip()],
        )
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "duplicates_in_file": result.duplicates_in_file,
                "invalid": result.invalid,
                "group_id": result.group_id,
                "errors": result.errors,
            }
        )


# --- groups ---


class GroupListCreateAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["contact_groups_list"],
        description=DESCRIPTIONS["contact_groups_list"],
        operation_id="contact_groups_list",
        summary="Contact groups with their member counts, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of("ContactGroupPageOutput", GroupOutput), 400: ERROR},
    )
    def get(self, request):
        return Response(list_page_answer(request, selectors.group_list(organization=self.organization), GroupOutput))

    @extend_schema(
        examples=EXAMPLES["contact_groups_create"],
        description=DESCRIPTIONS["contact_groups_create"],
        operation_id="contact_groups_create",
        summary="Create a group",
        request=GroupInput,
        responses={201: GroupOutput, 400: ERROR, 409: ERROR},
    )
    def post(self, request):
        serializer = GroupInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = services.group_create(
            organization=self.organization, actor=self.acting_person, **serializer.validated_data
        )
        return Response(GroupOutput(selectors.group_get(organization=self.organization, group_id=group.pk)).data, 201)


class GroupDetailAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(
        examples=EXAMPLES["contact_groups_get"],
        description=DESCRIPTIONS["contact_groups_get"],
        operation_id="contact_groups_get",
        summary="One group",
        responses={200: GroupOutput, 404: ERROR},
    )
    def get(self, request, group_id: int):
        return Response(GroupOutput(selectors.group_get(organization=self.organization, group_id=group_id)).data)

    @extend_schema(
        examples=EXAMPLES["contact_groups_update"],
        description=DESCRIPTIONS["contact_groups_update"],
        operation_id="contact_groups_update",
        summary="Rename a group or change its description",
        request=GroupInput,
        responses={200: GroupOutput, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def patch(self, request, group_id: int):
        serializer = GroupInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.group_update(
            organization=self.organization, actor=self.acting_person, group_id=group_id, **serializer.validated_data
        )
        return Response(GroupOutput(selectors.group_get(organization=self.organization, group_id=group_id)).data)

    @extend_schema(
        examples=EXAMPLES["contact_groups_delete"],
        description=DESCRIPTIONS["contact_groups_delete"],
        operation_id="contact_groups_delete",
        summary="Delete a group (its contacts stay)",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request, group_id: int):
        services.group_delete(organization=self.organization, actor=self.acting_person, group_id=group_id)
        return Response(status=204)


class GroupMembersAPI(OrganizationAPIView):
    required_permissions = {"POST": WRITE}
    parser_classes = [JSONParser]

    @extend_schema(
        examples=EXAMPLES["contact_groups_members"],
        operation_id="contact_groups_members",
        summary="Add and remove contacts of a group (by contact id)",
        description='Example: `{"add": [12, 13], "remove": [7]}`; a contact id not of this organization is a 404.',
        request=GroupMembersInput,
        responses={200: GroupOutput, 400: ERROR, 404: ERROR},
    )
    def post(self, request, group_id: int):
        serializer = GroupMembersInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.group_members_set(
            organization=self.organization, actor=self.acting_person, group_id=group_id, **serializer.validated_data
        )
        return Response(GroupOutput(selectors.group_get(organization=self.organization, group_id=group_id)).data)


# --- opt-outs ---


class OptOutListCreateAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["opt_outs_list"],
        description=DESCRIPTIONS["opt_outs_list"],
        operation_id="opt_outs_list",
        summary="The organization's own list of numbers not to send to, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of("OptOutPageOutput", OptOutOutput), 400: ERROR},
    )
    def get(self, request):
        return Response(list_page_answer(request, selectors.opt_out_list(organization=self.organization), OptOutOutput))

    @extend_schema(
        examples=EXAMPLES["opt_outs_create"],
        operation_id="opt_outs_create",
        summary="Stop sending to a number",
        description="Later messages to it are stored as `rejected` (`recipient_opted_out`) and not charged.",
        request=OptOutInput,
        responses={201: OptOutOutput, 400: ERROR},
    )
    def post(self, request):
        serializer = OptOutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        opt_out = services.opt_out_add(
            organization=self.organization, actor=self.acting_person, **serializer.validated_data
        )
        return Response(OptOutOutput(opt_out).data, status=201)


class OptOutDetailAPI(OrganizationAPIView):
    required_permissions = {"DELETE": WRITE}

    @extend_schema(
        examples=EXAMPLES["opt_outs_delete"],
        description=DESCRIPTIONS["opt_outs_delete"],
        operation_id="opt_outs_delete",
        summary="Send to the number again",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request, opt_out_id: int):
        services.opt_out_remove(organization=self.organization, actor=self.acting_person, opt_out_id=opt_out_id)
        return Response(status=204)
