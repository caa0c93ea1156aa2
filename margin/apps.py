from django.apps import AppConfig


class MarginConfig(AppConfig):
    name = "margin"
