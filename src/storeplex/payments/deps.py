"""`PaymentServiceDep`: a PaymentService bound to the request's session and the app's gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from storeplex.deps import SessionDep
from storeplex.payments.service import PaymentService
from storeplex.stripe.gateway import StripeGateway


def get_gateway(request: Request) -> StripeGateway:
    gateway: StripeGateway = request.app.state.stripe
    return gateway


def get_payment_service(request: Request, session: SessionDep) -> PaymentService:
    return PaymentService(session, get_gateway(request), request.app.state.settings)


PaymentServiceDep = Annotated[PaymentService, Depends(get_payment_service)]
GatewayDep = Annotated[StripeGateway, Depends(get_gateway)]
