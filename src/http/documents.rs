//! Document PDFs. `GET /documents/{id}.pdf` for members, authenticated exactly like `/graphql`
//! (`Authorization: Bearer` with a session token or an API key) and authorised like `node(id:)`
//! (VIEWER; another workspace's document is 404, as if it did not exist); and
//! `GET /portal/documents/{id}.pdf` for the client, with their portal token.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::db::documents::{DocumentRow, SignatureRow};
use crate::domain::{self, Caller};
use crate::error::AppError;
use crate::graphql::relay::Kind;
use crate::model::document_pdf::{self, PdfInput, SignatureBlock};
use crate::model::global_id::parse_global_id;
use crate::state::AppState;

/// The document's id from `{global id}.pdf` (a raw UUID is accepted too); anything else is 404.
pub fn document_id(file: &str) -> Option<uuid::Uuid> {
    let id = file.strip_suffix(".pdf")?;
    match parse_global_id(id) {
        Some((Kind::Document, uuid)) => Some(uuid),
        Some(_) => None,
        None => id.parse().ok(),
    }
}

/// The PDF as a download response.
pub fn pdf_response(row: &DocumentRow, signature: Option<&SignatureRow>) -> Response {
    let input = PdfInput {
        id: row.id,
        title: &row.title,
        content_html: &row.content_html,
        content_sha256: &row.content_sha256,
        signature: signature.map(|s| SignatureBlock {
            signer_name: &s.signer_name,
            signed_at: s.signed_at,
            ip: s.ip.as_deref(),
            user_agent: s.user_agent.as_deref(),
            content_sha256: &s.content_sha256,
        }),
    };
    let bytes = document_pdf::render(&input);
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    // A document is private: no shared cache keeps it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"document-{}.pdf\"", row.id)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

pub async fn member_pdf(
    State(state): State<AppState>,
    file: Result<Path<String>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Result<Response, AppError> {
    let (headers, peer) = (req.headers(), super::peer_of(&req));
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal = auth::authenticate(&state.db, authorization).await?;
    principal.require_authenticated()?;
    let id = file.ok().and_then(|Path(f)| document_id(&f)).ok_or(AppError::NotFound("document"))?;
    let caller = Caller { principal, client: super::client_info(headers, peer), config: state.config.clone() };
    let mut conn = state.db.conn().await?;
    let (row, signature) = domain::documents::for_pdf(&mut conn, &caller, id).await?;
    drop(conn);
    Ok(pdf_response(&row, signature.as_ref()))
}

/// `GET /portal/documents/{id}.pdf`: the client's download, with their portal token as
/// `Authorization: Bearer <token>` or, for a plain browser link, `?token=<token>` (the header
/// wins). Anything the token does not open — another lead's document, a draft, a revoked or
/// expired link — is the same 404.
pub async fn portal_pdf(
    State(state): State<AppState>,
    file: Result<Path<String>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Result<Response, AppError> {
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")))
        .map(|(_, t)| t.trim().to_owned());
    let query_token = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
    });
    let token = header_token.or(query_token).ok_or(AppError::NotFound("document"))?;
    let id = file.ok().and_then(|Path(f)| document_id(&f)).ok_or(AppError::NotFound("document"))?;
    let mut conn = state.db.conn().await?;
    let session = domain::portal::authenticate(&mut conn, &token).await.map_err(|_| AppError::NotFound("document"))?;
    let (row, signature) = domain::portal_documents::get(&mut conn, &session, id).await?;
    drop(conn);
    Ok(pdf_response(&row, signature.as_ref()))
}
