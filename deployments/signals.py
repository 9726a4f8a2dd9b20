"""Drop this process's cached deployment routes whenever staff change them."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .directory import deployment_directory
from .models import Deployment, DeploymentGroup, DeploymentRoute


@receiver([post_save, post_delete], sender=Deployment)
@receiver([post_save, post_delete], sender=DeploymentRoute)
@receiver([post_save, post_delete], sender=DeploymentGroup)
@receiver(m2m_changed, sender=DeploymentGroup.deployments.through)
def deployment_directory_clear(**kwargs):
    deployment_directory.clear()
