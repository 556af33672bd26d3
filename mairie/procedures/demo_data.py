"""Forms and workflows of the demo's two richer procedures (loaded by `demo.py`): an emergency
aid for businesses with a validation and signature chain, and the agents' telework request.

Written in the workflow JSON of docs/procedures-workflows.md, so they double as examples."""

from __future__ import annotations

# Aide économique d'urgence ---------------------------------------------------------------------

EMERGENCY_AID_WORKFLOW = {
    "name": "Instruction avec validation et signature",
    "roles": [{"key": "instructor", "label": "Instruction (Développement économique)"},
              {"key": "head", "label": "Chef du service Développement économique"},
              {"key": "dgs", "label": "Direction générale des services"},
              {"key": "signatory", "label": "Le maire"}],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted", "deadline_days": 5},
        {"key": "instruction", "label": "En instruction", "kind": "instruction",
         "deadline_days": 15},
        {"key": "attente_usager", "label": "En attente de compléments", "kind": "waiting",
         "public_label": "Compléments demandés", "deadline_days": 30},
        {"key": "validation_chef", "label": "Validation du chef de service",
         "kind": "validation", "public_label": "En cours de validation", "deadline_days": 5},
        {"key": "validation_dgs", "label": "Validation de la direction générale",
         "kind": "validation", "public_label": "En cours de validation", "deadline_days": 5},
        {"key": "signature", "label": "Signature du maire", "kind": "validation",
         "public_label": "En cours de signature", "deadline_days": 5},
        {"key": "accorde", "label": "Accordé", "kind": "final",
         "public_label": "Aide accordée"},
        {"key": "refuse", "label": "Refusé", "kind": "final", "public_label": "Aide refusée"},
    ],
    "transitions": [
        {"key": "prendre_en_charge", "label": "Prendre en charge", "from": "depose",
         "to": "instruction", "role": "instructor", "style": "primary",
         "actions": [{"type": "assign", "to": "self"}, "notify"]},
        {"key": "demander_complements", "label": "Demander des compléments",
         "from": "instruction", "to": "attente_usager", "role": "instructor",
         "style": "secondary", "return_to": "instruction",
         "actions": [{"type": "request_correction"}, "notify"]},
        {"key": "reprendre", "label": "Reprendre l'instruction sans réponse",
         "from": "attente_usager", "to": "instruction", "role": "instructor",
         "style": "secondary", "required_fields": ["comment"], "actions": []},
        {"key": "proposer", "label": "Proposer une décision", "from": "instruction",
         "to": "validation_chef", "role": "instructor", "style": "primary",
         "required_fields": [
             {"key": "proposition", "label": "Proposition", "type": "choice",
              "required": True,
              "choices": [{"value": "accord", "label": "Accorder l'aide"},
                          {"value": "refus", "label": "Refuser l'aide"}]},
             {"key": "montant_accorde", "label": "Montant proposé (€)", "type": "number",
              "required": False, "help": "En cas d'accord."},
             "motivation"],
         "actions": [{"type": "assign", "to": "role:head"}]},
        {"key": "valider_chef", "label": "Valider la proposition", "from": "validation_chef",
         "to": "validation_dgs", "role": "head", "validation": "approve", "style": "primary",
         "required_fields": ["comment"], "actions": [{"type": "assign", "to": "role:dgs"}]},
        {"key": "renvoyer_chef", "label": "Renvoyer à l'instruction", "from": "validation_chef",
         "to": "instruction", "role": "head", "validation": "reject", "style": "secondary",
         "required_fields": ["motivation"], "public": False,
         "actions": [{"type": "assign", "to": "role:instructor"}]},
        {"key": "valider_dgs", "label": "Valider (direction générale)",
         "from": "validation_dgs", "to": "signature", "role": "dgs", "validation": "approve",
         "style": "primary", "required_fields": ["comment"],
         "actions": [{"type": "assign", "to": "role:signatory"}]},
        {"key": "renvoyer_dgs", "label": "Renvoyer à l'instruction", "from": "validation_dgs",
         "to": "instruction", "role": "dgs", "validation": "reject", "style": "secondary",
         "required_fields": ["motivation"], "public": False,
         "actions": [{"type": "assign", "to": "role:instructor"}]},
        {"key": "signer_accord", "label": "Signer l'accord", "from": "signature",
         "to": "accorde", "role": "signatory", "validation": "approve", "signature": True,
         "style": "primary", "required_fields": ["comment"],
         "actions": [{"type": "document", "template": "lettre_decision",
                      "visible_to_applicant": True}, "notify"]},
        {"key": "signer_refus", "label": "Signer le refus", "from": "signature",
         "to": "refuse", "role": "signatory", "validation": "approve", "signature": True,
         "style": "danger", "required_fields": ["comment"],
         "actions": [{"type": "document", "template": "lettre_decision",
                      "visible_to_applicant": True}, "notify"]},
        {"key": "renvoyer_signature", "label": "Renvoyer à l'instruction", "from": "signature",
         "to": "instruction", "role": "signatory", "validation": "reject",
         "style": "secondary", "required_fields": ["motivation"], "public": False,
         "actions": [{"type": "assign", "to": "role:instructor"}]},
    ],
    "documents": {
        "lettre_decision": {
            "title": "Lettre de décision",
            "body": (
                "{{ organisation.name }}, le {{ today }}\n\n"
                "Objet : {{ procedure.title }} — dossier N° {{ dossier.number }}\n\n"
                "À l'attention de {{ applicant.name }},\n\n"
                "Vous avez déposé le {{ dossier.submitted_at }} une demande d'aide économique "
                "d'urgence pour l'entreprise {{ data.raison_sociale }} (SIRET "
                "{{ data.siret }}), d'un montant de {{ data.montant }} €.\n\n"
                "Décision : {{ state }}.\n\n"
                "Motifs : {{ decision.motivation }}\n\n"
                "En cas d'accord, l'aide est versée sur le compte indiqué dans votre demande "
                "dans un délai de trente jours. Cette décision peut faire l'objet d'un recours "
                "gracieux auprès du maire ou d'un recours contentieux devant le tribunal "
                "administratif dans un délai de deux mois à compter de sa notification."),
        },
    },
}

ACTIVITIES = [{"value": "commerce", "label": "Commerce de détail"},
              {"value": "restauration", "label": "Café, hôtel, restaurant"},
              {"value": "artisanat", "label": "Artisanat"},
              {"value": "services", "label": "Services aux particuliers ou aux entreprises"},
              {"value": "autre", "label": "Autre activité"}]

EMERGENCY_AID_SCHEMA = {"pages": [
    {"key": "entreprise", "title": "Votre entreprise", "condition": "", "fields": [
        {"key": "siret", "type": "siret", "label": "Numéro SIRET", "required": True,
         "help": "14 chiffres, sur votre extrait Kbis ou l'avis de situation Insee."},
        {"key": "raison_sociale", "type": "text", "label": "Raison sociale", "required": True},
        {"key": "activite", "type": "choice", "label": "Activité principale",
         "required": True, "options": {"choices": ACTIVITIES}},
        {"key": "activite_precision", "type": "text", "label": "Précisez l'activité",
         "required": True, "condition": 'activite == "autre"'},
        {"key": "adresse_etablissement", "type": "address",
         "label": "Adresse de l'établissement", "required": True},
    ]},
    {"key": "difficultes", "title": "Vos difficultés et votre demande", "condition": "",
     "fields": [
         {"key": "perte_ca", "type": "number",
          "label": "Perte de chiffre d'affaires (en %)", "required": True,
          "help": "Par rapport à la même période de l'année précédente.",
          "options": {"min": 0, "max": 100, "decimals": 0}},
         {"key": "explication_perte", "type": "textarea",
          "label": "Expliquez les causes de cette forte perte", "required": True,
          "condition": "perte_ca >= 50",
          "help": "Sinistre, travaux de voirie, fermeture administrative…"},
         {"key": "montant", "type": "number", "label": "Montant demandé (en €)",
          "required": True, "help": "5 000 € au plus.",
          "options": {"min": 1, "max": 5000, "decimals": 2}},
         {"key": "iban", "type": "iban", "label": "IBAN du compte de l'entreprise",
          "required": True},
     ]},
    {"key": "pieces", "title": "Pièces justificatives", "condition": "", "fields": [
        {"key": "kbis", "type": "file",
         "label": "Extrait Kbis ou justificatif d'immatriculation", "required": True,
         "options": {"allowed": ["application/pdf", "image/jpeg", "image/png"],
                     "max_mb": 10}},
        {"key": "rib", "type": "file", "label": "Relevé d'identité bancaire (RIB)",
         "required": True,
         "options": {"allowed": ["application/pdf", "image/jpeg", "image/png"],
                     "max_mb": 10}},
    ]},
]}

# Demande de télétravail (interne) ----------------------------------------------------------

TELEWORK_WORKFLOW = {
    "name": "Télétravail (avis hiérarchique, validation RH)",
    "roles": [{"key": "manager", "label": "Avis hiérarchique"},
              {"key": "hr", "label": "Ressources humaines"}],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "avis_responsable", "label": "Avis du responsable", "kind": "submitted",
         "public_label": "En attente de l'avis de votre responsable", "deadline_days": 10},
        {"key": "validation_rh", "label": "Validation RH", "kind": "validation",
         "public_label": "En cours de validation par les ressources humaines",
         "deadline_days": 10},
        {"key": "en_cours", "label": "En cours", "kind": "final",
         "public_label": "Télétravail accordé, en cours"},
        {"key": "refuse", "label": "Refusé", "kind": "final"},
        {"key": "termine", "label": "Terminé", "kind": "final"},
    ],
    "transitions": [
        {"key": "avis_favorable", "label": "Donner un avis favorable",
         "from": "avis_responsable", "to": "validation_rh", "role": "manager",
         "validation": "approve", "style": "primary", "required_fields": ["comment"],
         "actions": [{"type": "assign", "to": "role:hr"}]},
        {"key": "avis_defavorable", "label": "Donner un avis défavorable",
         "from": "avis_responsable", "to": "refuse", "role": "manager",
         "validation": "reject", "style": "danger", "required_fields": ["motivation"],
         "actions": ["notify"]},
        {"key": "valider_rh", "label": "Accorder le télétravail", "from": "validation_rh",
         "to": "en_cours", "role": "hr", "validation": "approve", "style": "primary",
         "required_fields": ["comment"], "actions": ["notify"]},
        {"key": "refuser_rh", "label": "Refuser", "from": "validation_rh", "to": "refuse",
         "role": "hr", "validation": "reject", "style": "danger",
         "required_fields": ["motivation"], "actions": ["notify"]},
        {"key": "mettre_fin", "label": "Mettre fin au télétravail", "from": "en_cours",
         "to": "termine", "role": "applicant", "style": "secondary", "reopen": True,
         "required_fields": ["comment"], "actions": [{"type": "notify", "to": "role:hr"}]},
        {"key": "mettre_fin_rh", "label": "Mettre fin au télétravail", "from": "en_cours",
         "to": "termine", "role": "hr", "style": "danger", "reopen": True,
         "required_fields": ["motivation"], "actions": ["notify"]},
    ],
}

WEEKDAYS = [{"value": "lundi", "label": "Lundi"}, {"value": "mardi", "label": "Mardi"},
            {"value": "mercredi", "label": "Mercredi"}, {"value": "jeudi", "label": "Jeudi"},
            {"value": "vendredi", "label": "Vendredi"}]

TELEWORK_SCHEMA = {"pages": [
    {"key": "demande", "title": "Votre demande", "condition": "", "fields": [
        {"key": "jours", "type": "multichoice", "label": "Jours de télétravail souhaités",
         "required": True, "help": "Deux jours par semaine au plus.",
         "options": {"choices": WEEKDAYS}},
        {"key": "date_debut", "type": "date", "label": "À partir du", "required": True,
         "options": {"min": "today"}},
        {"key": "espace_adapte", "type": "yesno",
         "label": "Disposez-vous à domicile d'un espace de travail adapté ?",
         "required": True},
        {"key": "info_espace", "type": "comment", "condition": "espace_adapte == False",
         "label": "Un espace calme, équipé d'une connexion internet, est nécessaire. Les "
                  "ressources humaines peuvent vous conseiller : indiquez votre situation "
                  "ci-dessous."},
        {"key": "precisions", "type": "textarea", "label": "Précisions", "required": False},
        {"key": "attestation_assurance", "type": "file",
         "label": "Attestation d'assurance habitation couvrant le télétravail",
         "required": True,
         "options": {"allowed": ["application/pdf", "image/jpeg", "image/png"],
                     "max_mb": 10}},
    ]},
]}
