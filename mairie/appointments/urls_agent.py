"""The agents' appointment pages, under `/agent/rendez-vous/` (namespace `appointments`):
the desk (decision 0485) and the plan's administration (decision 0486)."""

from django.urls import path

from . import views_agent, views_plan

urlpatterns = [
    path("agent/rendez-vous/", views_agent.desk_day, name="desk-day"),
    path("agent/rendez-vous/semaine/", views_agent.desk_week, name="desk-week"),
    path("agent/rendez-vous/export.csv", views_agent.desk_export, name="desk-export"),
    path("agent/rendez-vous/creneaux/<uuid:pk>/reserver/", views_agent.book, name="desk-book"),
    path("agent/rendez-vous/creneaux/<uuid:pk>/bloquer/", views_agent.block,
         name="desk-block"),
    path("agent/rendez-vous/<uuid:pk>/", views_agent.appointment_detail,
         name="desk-appointment"),
    path("agent/rendez-vous/<uuid:pk>/presence/", views_agent.attendance,
         name="desk-attendance"),
    path("agent/rendez-vous/<uuid:pk>/annuler/", views_agent.cancel, name="desk-cancel"),
    path("agent/rendez-vous/<uuid:pk>/dossier/", views_agent.link_dossier,
         name="desk-link-dossier"),
    path("agent/rendez-vous/<uuid:pk>/note/", views_agent.agent_note, name="desk-note"),
    path("agent/rendez-vous/planning/", views_plan.plan, name="plan"),
    path("agent/rendez-vous/planning/lieux/nouveau/", views_plan.counter_edit,
         name="plan-counter-new"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/", views_plan.counter_page,
         name="plan-counter"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/modifier/", views_plan.counter_edit,
         name="plan-counter-edit"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/horaires/", views_plan.hours_edit,
         name="plan-hours"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/exceptions/nouvelle/",
         views_plan.closure_new, name="plan-closure-new"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/exceptions/<int:row>/supprimer/",
         views_plan.closure_delete, name="plan-closure-delete"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/disponibilites/nouvelle/",
         views_plan.availability_new, name="plan-availability-new"),
    path("agent/rendez-vous/planning/lieux/<uuid:pk>/disponibilites/<int:row>/supprimer/",
         views_plan.availability_delete, name="plan-availability-delete"),
    path("agent/rendez-vous/planning/types/nouveau/", views_plan.type_edit,
         name="plan-type-new"),
    path("agent/rendez-vous/planning/types/<uuid:pk>/", views_plan.type_edit,
         name="plan-type-edit"),
    path("agent/rendez-vous/planning/absences/", views_plan.absences, name="plan-absences"),
    path("agent/rendez-vous/planning/absences/<int:row>/supprimer/",
         views_plan.absence_delete, name="plan-absence-delete"),
]
