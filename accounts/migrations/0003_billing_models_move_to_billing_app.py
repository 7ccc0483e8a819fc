# The billing models now belong to the `billing` app (billing/migrations/0001_initial.py takes them over in the
# migration state). Their tables stay where they are: this migration touches only the state, never the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_billing_plan_constraints'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Receipt'),
                migrations.DeleteModel(name='ReceiptCounter'),
                migrations.DeleteModel(name='LedgerEntry'),
                migrations.DeleteModel(name='Payment'),
                migrations.DeleteModel(name='CreditAccount'),
                migrations.DeleteModel(name='PricePlan'),
            ],
            database_operations=[],
        ),
    ]
