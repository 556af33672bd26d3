import re

from django.db import migrations, models

# The links of notifications stored before `subject`: a dossier's page for the applicant
# (/mes-demarches/<uuid>/) or for agents (/agent/dossiers/<uuid>/…), with or without the
# language prefix.
DOSSIER_LINK = re.compile(r"/(?:mes-demarches|agent/dossiers)/([0-9a-f-]{36})/")


def fill_subjects(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    changed = []
    for notification in Notification.objects.filter(subject="").exclude(url="").only("url"):
        match = DOSSIER_LINK.search(notification.url)
        if match:
            notification.subject = f"procedures.dossier:{match.group(1)}"
            changed.append(notification)
    Notification.objects.bulk_update(changed, ["subject"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0003_actor_and_digests"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="subject",
            field=models.CharField(blank=True, db_index=True, max_length=120,
                                   verbose_name="objet concerné"),
        ),
        migrations.RunPython(fill_subjects, migrations.RunPython.noop),
    ]
