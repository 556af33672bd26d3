from django.urls import include, path, re_path

from . import (
    views,
    views_agent,
    views_builder,
    views_processing,
    views_retention,
    views_webhooks,
    views_workflow,
    views_workflows,
)

app_name = "procedures"

urlpatterns = [
    path("demarches/", views.catalogue, name="catalogue"),
    path("demarches/dossiers/<uuid:pk>/page/<slug:page_key>/", views.fill_page, name="page"),
    path("demarches/dossiers/<uuid:pk>/recapitulatif/", views.review, name="review"),
    path("demarches/dossiers/<uuid:pk>/recepisse/", views.receipt, name="receipt"),
    path("demarches/dossiers/<uuid:pk>/recepisse.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("demarches/reprendre/<str:code>/", views.resume_draft, name="resume"),
    path("demarches/<slug:slug>/", views.procedure_page, name="procedure"),
    path("mes-demarches/", views.my_dossiers, name="my-dossiers"),
    path("suivi/<str:code>/", views.tracking, name="tracking"),
    path("agent/dossiers/", views_agent.inbox, name="agent-inbox"),
    path("agent/dossiers/<uuid:pk>/", views_agent.dossier_page, name="agent-dossier"),
    re_path(r"^agent/dossiers/(?P<pk>[0-9a-f-]{36})/(?P<tab>messagerie|notes-et-avis|historique)/$",
            views_agent.dossier_page, name="agent-dossier-tab"),
    # Workflow editor (views_workflows.py)
    path("agent/circuits/", include(views_workflows.urlpatterns)),
    # Workflow engine (views_workflow.py)
    path("agent/dossiers/<uuid:pk>/etape/<slug:key>/", views_workflow.agent_transition,
         name="agent-transition"),
    path("mes-demarches/<uuid:pk>/etape/<slug:key>/", views_workflow.applicant_transition,
         name="applicant-transition"),
    path("demarches/documents/<uuid:pk>/", views_workflow.document, name="document"),
    path("suivi/<str:code>/documents/<uuid:pk>/", views_workflow.tracked_document,
         name="tracked-document"),
    # Processing (views_processing.py)
    path("mes-demarches/<uuid:pk>/", views_processing.dossier_page, name="dossier"),
    path("mes-demarches/<uuid:pk>/message/", views_processing.dossier_message,
         name="dossier-message"),
    path("mes-demarches/<uuid:pk>/correction/", views_processing.correction, name="correction"),
    path("suivi/<str:code>/message/", views_processing.tracking_message,
         name="tracking-message"),
    path("suivi/<str:code>/correction/", views_processing.tracking_correction,
         name="tracking-correction"),
    path("suivi/<str:code>/fichiers/<uuid:file_pk>/", views_processing.tracking_file,
         name="tracking-file"),
    path("agent/dossiers/<uuid:pk>/attribution/", views_processing.agent_assign,
         name="agent-assign"),
    path("agent/dossiers/<uuid:pk>/etiquettes/", views_processing.agent_labels,
         name="agent-labels"),
    path("agent/dossiers/<uuid:pk>/messages/", views_processing.agent_message,
         name="agent-message"),
    path("agent/dossiers/<uuid:pk>/annotations/", views_processing.agent_annotation,
         name="agent-annotation"),
    path("agent/dossiers/<uuid:pk>/avis/", views_processing.agent_opinion_request,
         name="agent-opinion-request"),
    path("agent/dossiers/<uuid:pk>/avis/<uuid:opinion_pk>/",
         views_processing.agent_opinion_answer, name="agent-opinion-answer"),
    path("agent/etiquettes/", views_processing.labels_page, name="labels"),
    # API and webhooks (views_webhooks.py)
    path("agent/demarches/<slug:slug>/webhooks/", include(views_webhooks.urlpatterns)),
    # Builder (views_builder.py)
    path("agent/demarches/", include(views_builder.urlpatterns)),
    # Retention (views_retention.py, issue 4)
    path("agent/demarches/<slug:slug>/conservation/", views_retention.retention_settings,
         name="retention-settings"),
]

# Exports and statistics (views_exports.py, views_statistics.py)
from . import views_exports, views_statistics  # noqa: E402

urlpatterns += views_exports.urlpatterns + views_statistics.urlpatterns

# Batch work (views_batch.py)
from . import views_batch  # noqa: E402

urlpatterns += views_batch.urlpatterns

# Automation: deadlines, silence vaut accord/refus, routing, automatic transitions (issue 4)
from . import views_automation  # noqa: E402

urlpatterns += [
    path("agent/demarches/<slug:slug>/automatisation/", views_automation.automation_page,
         name="builder-automation"),
]
