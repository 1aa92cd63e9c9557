"""GET /api/v1/audit/checkpoint-key: the public key that signs audit checkpoints.

Public on purpose: anyone holding a checkpoint (a line of
``FLEET_AUDIT_CHECKPOINT_FILE``, or the copy POSTed to
``FLEET_AUDIT_CHECKPOINT_URL``) can check its signature with it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from backend.api.schemas_ops import AuditCheckpointKey
from backend.services import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/checkpoint-key", response_model=AuditCheckpointKey)
def checkpoint_key(request: Request) -> AuditCheckpointKey:
    try:
        keys = audit.keys_provider(request.app.state.settings.ca_dir)()
    except audit.AuditKeyUnavailable as err:
        raise HTTPException(503, detail="审计密钥不可用") from err
    return AuditCheckpointKey(signer=keys.signer, public_key_pem=keys.public_pem())
