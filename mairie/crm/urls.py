from django.urls import path

from . import views, views_help, views_mail, views_mandates, views_scans

app_name = "crm"

urlpatterns = [
    path("agent/usagers/", views.search, name="search"),
    path("agent/usagers/nouvelle-fiche/", views.create, name="create"),
    path("agent/usagers/<uuid:pk>/", views.record, name="record"),
    path("agent/usagers/<uuid:pk>/contact/", views.log_interaction, name="log-interaction"),
    path("agent/usagers/<uuid:pk>/modifier/", views.edit, name="edit"),
    path("agent/usagers/<uuid:pk>/demarche/", views.file_for, name="file-for"),
    path("agent/usagers/<uuid:pk>/fusionner/", views.merge, name="merge"),
    path("agent/usagers/<uuid:pk>/mandats/", views_mandates.mandates, name="mandates"),
    path("agent/usagers/<uuid:pk>/numeriser/", views_scans.scan_new, name="scan-new"),
    path("agent/usagers/documents/<uuid:pk>/", views_scans.scan_page, name="scan"),
    path("agent/usagers/<uuid:pk>/dossiers/<uuid:dossier_pk>/", views_mandates.record_dossier,
         name="record-dossier"),
    path("agent/mandats/<uuid:pk>/", views_mandates.mandate, name="mandate"),
    path("agent/mandats/<uuid:pk>/mandat.pdf", views_mandates.mandate_pdf, name="mandate-pdf"),
    path("mon-compte/mandats/", views_mandates.my_mandates, name="my-mandates"),
    path("mon-compte/mandats/<uuid:pk>/revoquer/", views_mandates.revoke_mine,
         name="revoke-mine"),
    path("agent/courriels/", views_mail.mail_queue, name="mail-queue"),
    path("agent/courriels/adresses/", views_mail.mailboxes, name="mailboxes"),
    path("agent/courriels/adresses/<uuid:pk>/", views_mail.mailbox, name="mailbox"),
    path("agent/courriels/<uuid:pk>/", views_mail.mail_message, name="mail-message"),
    path("agent/courriels/<uuid:pk>/rattacher/", views_mail.mail_attach, name="mail-attach"),
    path("agent/courriels/<uuid:pk>/nouvelle-fiche/", views_mail.mail_new_record,
         name="mail-new-record"),
    path("agent/courriels/<uuid:pk>/repondre/", views_mail.mail_reply, name="mail-reply"),
    path("aide/", views_help.help_page, name="help"),
    path("aide/demande-envoyee/", views_help.help_sent, name="help-sent"),
    path("agent/aide/", views_help.help_queue, name="help-queue"),
    path("agent/aide/appel/", views_help.help_by_phone, name="help-by-phone"),
    path("agent/aide/<uuid:pk>/", views_help.help_request, name="help-request"),
]
