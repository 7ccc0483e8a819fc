"""Re-encrypt every encrypted column and file under the newest FIELD_ENCRYPTION_KEYS entry.

Rotation: prepend the new key to FIELD_ENCRYPTION_KEYS on every machine (old values still decrypt), run this
command (safe while the site runs; stop and start it again at will: values already under the new key are skipped),
then drop the old key.
"""

from django.core.management.base import BaseCommand

from portal.key_rotation import BATCH_SIZE, rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column and file under the newest FIELD_ENCRYPTION_KEYS entry (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Rows read and written per transaction")

    def handle(self, *args, batch_size: int, **options):
        report = rotate_keys(batch_size=batch_size, progress=lambda line: self.stdout.write(line))
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.rows_rotated} of {report.rows_checked} encrypted value(s) and {report.files_rotated} of "
                f"{report.files_checked} encrypted file(s) re-encrypted under the newest key."
            )
        )
