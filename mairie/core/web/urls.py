from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.portal_home, name="portal-home"),
    path("agent/parametres/", views.organisation_settings, name="organisation-settings"),
    path("theme.css", views.theme_css, name="theme-css"),
    path("mon-compte/", views.my_account, name="my-account"),
    path("connexion/suite/", views.after_login, name="after-login"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("donnees-personnelles/", views.privacy, name="privacy"),
    path("mentions-legales/", views.legal_notice, name="legal-notice"),
    path("agent/", views.agent_home, name="agent-home"),
]
