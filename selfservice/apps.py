from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "selfservice"
    verbose_name = "Self-service"

    def ready(self) -> None:
        from selfservice import receivers  # noqa: F401 - connects the signal receivers
