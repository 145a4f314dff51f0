from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants.middleware import ACTIVE_BUSINESS_SESSION_KEY


@require_POST
@login_required
def switch_business(request: HttpRequest) -> HttpResponse:
    """Make another of the user's businesses the active one."""
    wanted = request.POST.get("business", "")
    membership = next(
        (m for m in request.memberships if str(m.tenant_id) == wanted),  # type: ignore[attr-defined]
        None,
    )
    if membership is None:
        messages.error(request, _("You are not a member of that business."))
    else:
        request.session[ACTIVE_BUSINESS_SESSION_KEY] = membership.tenant_id
        messages.success(request, _("Now working on %(name)s.") % {"name": membership.tenant.name})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    return HttpResponseRedirect(next_url) if next_url else redirect("dashboard:home")
