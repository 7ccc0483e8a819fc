"""Forms for the billing pages and the billing admin. They parse; the services decide."""

from decimal import Decimal

from django import forms

from billing.models import CreditAccount, Payment, PaymentMethod


class LowBalanceThresholdForm(forms.Form):
    threshold = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        label="Alert me when the balance falls below",
        help_text="Credits. Leave empty for no alert.",
    )


class CreditAdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Credits to add; a negative amount removes credits (never below zero).",
    )
    reason = forms.CharField(max_length=255, help_text="Required; kept in the ledger and the audit log.")

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("An adjustment of zero changes nothing.")
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class PaymentAddForm(forms.ModelForm):
    """Admin add form. Saving calls `payment_record`; `confirm_now` says whether the money is already
    received."""

    confirm_now = forms.BooleanField(
        required=False,
        initial=True,
        label="Money received: confirm now",
        help_text="Adds the credits and issues the receipt. Leave unticked to record a pending payment.",
    )

    class Meta:
        model = Payment
        fields = ["organization", "method", "amount_php", "credits", "reference", "notes"]
        labels = {"amount_php": "Amount paid (PHP)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "Online checkout" is a checkout's state until its provider says how it was paid; staff record real methods.
        self.fields["method"].choices = [
            choice for choice in self.fields["method"].choices if choice[0] != PaymentMethod.ONLINE
        ]


class BuyCreditsForm(forms.Form):
    pack = forms.IntegerField(min_value=1)


class BillingProfileForm(forms.ModelForm):
    """Who receipts are made out to; the services check the TIN."""

    class Meta:
        model = CreditAccount
        fields = ["billing_name", "billing_tin", "billing_address"]
        labels = {"billing_name": "Registered name", "billing_tin": "TIN", "billing_address": "Registered address"}
