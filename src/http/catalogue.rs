//! The catalogues a partner needs to handle answers: every error code the API answers with (its
//! status and meaning, in English and Chinese) and every reason code a score can carry (both
//! products, from `features::catalogue`). Served at `/v1/catalogue/errors` and
//! `/v1/catalogue/reasons`, and listed in docs/api.md; a test below keeps the error list whole
//! against the codes the source answers with.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::domain::Product;
use crate::features::catalogue;

/// One error code: `error.code` of an error answer.
#[derive(Clone, Copy, Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorCode {
    #[schema(example = "rate_limited")]
    pub code: &'static str,
    #[schema(example = 429)]
    pub status: u16,
    pub meaning_en: &'static str,
    pub meaning_zh: &'static str,
}

const fn e(
    code: &'static str,
    status: u16,
    meaning_en: &'static str,
    meaning_zh: &'static str,
) -> ErrorCode {
    ErrorCode {
        code,
        status,
        meaning_en,
        meaning_zh,
    }
}

/// Every error code, by status.
pub const ERRORS: &[ErrorCode] = &[
    e("bad_request", 400, "The request is malformed (a query string or header that cannot be read).", "请求格式错误（查询参数或请求头无法解析）。"),
    e("malformed_json", 400, "The body is not well-formed JSON.", "请求体不是格式正确的 JSON。"),
    e("unsupported_format", 400, "A feed file in none of the accepted formats (CSV, JSON Lines, XLSX).", "数据文件格式不受支持（仅接受 CSV、JSON Lines、XLSX）。"),
    e("unauthorized", 401, "No partner key, or one that is unknown, retired or revoked.", "缺少合作机构密钥，或密钥未知、已轮换停用或已吊销。"),
    e("role_not_allowed", 403, "The partner's role may not use this endpoint.", "合作机构角色无权使用此接口。"),
    e("purpose_not_allowed", 403, "The partner's role may not ask for this purpose.", "合作机构角色不得以此用途查询。"),
    e("no_consent", 403, "No consent with this id for this partner.", "该合作机构没有此编号的授权。"),
    e("not_your_consent", 403, "The consent belongs to another partner.", "该授权属于其他合作机构。"),
    e("consent_subject_mismatch", 403, "The consent is for another subject.", "授权对应的主体不一致。"),
    e("consent_purpose_mismatch", 403, "The consent is for another purpose.", "授权用途不一致。"),
    e("consent_withdrawn", 403, "The subject withdrew the consent.", "主体已撤回授权。"),
    e("consent_revoked", 403, "The partner revoked the consent.", "合作机构已撤销授权。"),
    e("consent_expired", 403, "The consent is past its last valid day.", "授权已过有效期。"),
    e("same_approver", 403, "A promotion needs a second administrator's approval.", "模型上线需由另一位管理员复核批准。"),
    e("not_found", 404, "No such route or resource (or not the caller's).", "接口或资源不存在（或不属于调用方）。"),
    e("method_not_allowed", 405, "The route does not take this method.", "该接口不支持此 HTTP 方法。"),
    e("timeout", 408, "The request took longer than the service allows.", "请求处理超时。"),
    e("conflict", 409, "The resource is not in a state that allows this (already revoked, replayed key, gate failed).", "资源当前状态不允许此操作（已撤销、幂等键重复、未通过上线门槛等）。"),
    e("payload_too_large", 413, "The body is over the body limit, or a batch holds over 1,000 requests.", "请求体超过上限，或批量请求超过 1,000 条。"),
    e("feed_limit_exceeded", 413, "A feed file goes over one of the feed limits (details name it).", "数据文件超过某项解析限制（details 中注明）。"),
    e("batch_over_rate_limit", 413, "A score batch larger than the partner's whole per-minute allowance.", "批量评分条数超过该合作机构每分钟的全部额度。"),
    e("uri_too_long", 414, "The URI is longer than 8 KiB.", "URI 超过 8 KiB。"),
    e("unsupported_media_type", 415, "The body is not labelled with a content type this endpoint reads.", "请求体的内容类型不被此接口接受。"),
    e("invalid_content", 422, "A field is well-formed but invalid (details name the field).", "字段格式正确但取值无效（details 中注明字段）。"),
    e("invalid_body", 422, "The JSON does not have the request's shape (missing or unknown field, wrong type).", "JSON 结构与请求不符（缺少或多余字段、类型错误）。"),
    e("gates_failed", 422, "The candidate fails a promotion gate (details list them); promote with force and a reason to ask for approval.", "候选模型未通过上线门槛（details 中列出）；可附理由强制上线并等待复核。"),
    e("insufficient_evidence", 422, "Too few matured loans to judge the candidate by the gates.", "已到期贷款太少，无法按上线门槛评判候选模型。"),
    e("invalid_rows", 422, "Rows of a feed file are invalid (errors by line and column); nothing stored.", "数据文件中有无效行（按行列列出），未存储任何数据。"),
    e("unreadable_file", 422, "A feed file cannot be read as its format.", "数据文件无法按其格式读取。"),
    e("rate_limited", 429, "Over the rate limit: retry after Retry-After seconds.", "超过调用频率限制：请在 Retry-After 秒后重试。"),
    e("headers_too_large", 431, "More than 80 header fields or 32 KiB of headers.", "请求头超过 80 个字段或 32 KiB。"),
    e("internal", 500, "An internal failure (logged; nothing internal is told).", "内部错误（已记录日志，不对外披露细节）。"),
    e("unavailable", 503, "No champion model for the product yet, or the service is shutting down.", "该产品暂无在用模型，或服务正在停机。"),
];

/// One reason code: what a score's `reasons[].code` means.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReasonCode {
    #[schema(example = "SME-TAX-03")]
    pub code: &'static str,
    #[schema(example = "sme")]
    pub product: &'static str,
    /// The characteristic it is about.
    #[schema(example = "late_filing_months_24m")]
    pub characteristic: &'static str,
    pub characteristic_zh: &'static str,
    pub text_en: &'static str,
    pub text_zh: &'static str,
}

/// Every reason code of both products, in catalogue order.
pub fn reasons() -> Vec<ReasonCode> {
    Product::ALL
        .iter()
        .flat_map(|&product| {
            catalogue::of(product).iter().map(move |c| ReasonCode {
                code: c.code,
                product: product.as_str(),
                characteristic: c.name,
                characteristic_zh: c.name_zh,
                text_en: c.text_en,
                text_zh: c.text_zh,
            })
        })
        .collect()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/catalogue/errors", get(errors))
        .route("/v1/catalogue/reasons", get(reason_codes))
}

/// The error codes
///
/// Every `error.code` the API answers with, its HTTP status and its meaning in English and
/// Chinese. Any partner's key may read it.
#[utoipa::path(get, path = "/v1/catalogue/errors", operation_id = "catalogue_errors",
    responses((status = 200, description = "every error code", body = [ErrorCode])),
    security(("partner_key" = [])), tag = "catalogue")]
pub async fn errors(_caller: Caller) -> Result<Json<&'static [ErrorCode]>, ApiError> {
    Ok(Json(ERRORS))
}

/// The reason codes
///
/// Every reason code a score of either product can carry, with the characteristic it is about
/// and its text in English and Chinese. Codes never change meaning. Any partner's key may read it.
#[utoipa::path(get, path = "/v1/catalogue/reasons", operation_id = "catalogue_reasons",
    responses((status = 200, description = "every reason code of both products", body = [ReasonCode])),
    security(("partner_key" = [])), tag = "catalogue")]
pub async fn reason_codes(_caller: Caller) -> Result<Json<Vec<ReasonCode>>, ApiError> {
    Ok(Json(reasons()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted word after each `marker` in `text`, across white space and line breaks.
    fn codes_after(text: &str, marker: &str, out: &mut Vec<String>) {
        for part in text.split(marker).skip(1) {
            let rest = part.trim_start();
            if let Some(quoted) = rest.strip_prefix('"') {
                let word: String = quoted.chars().take_while(|c| *c != '"').collect();
                if !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    out.push(word);
                }
            }
        }
    }

    #[test]
    fn every_error_code_the_source_answers_with_is_in_the_catalogue() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![];
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut found = vec![];
        for file in files {
            if file.ends_with("catalogue.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for marker in [
                "code: ",
                "forbidden(",
                "refuse(",
                "StatusCode::URI_TOO_LONG,",
                "StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,",
            ] {
                codes_after(&text, marker, &mut found);
            }
            if file.ends_with("http/error.rs") {
                // `parts` and `json_errors` name theirs on a line of their own or as a pair's
                // first word: `"rate_limited",`, `("not_found", "no such route")`.
                for line in text.lines() {
                    let t = line.trim();
                    let Some(q) = t.strip_prefix('"').or_else(|| t.strip_prefix("(\"")) else {
                        continue;
                    };
                    let word: String = q.chars().take_while(|c| *c != '"').collect();
                    let snake = word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                    if !word.is_empty() && snake && q[word.len()..].starts_with("\",") {
                        found.push(word);
                    }
                }
            }
        }
        assert!(found.len() >= 20, "the scan found too few codes: {found:?}");
        // Reason codes of the catalogue, model flags and field names are not error codes.
        let not_errors = ["field", "consent"];
        let missing: Vec<_> = found
            .iter()
            .filter(|c| !not_errors.contains(&c.as_str()))
            .filter(|c| !ERRORS.iter().any(|e| e.code == c.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "error codes missing from the catalogue: {missing:?}"
        );
    }

    #[test]
    fn the_docs_list_every_error_code_and_every_reason_code() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let api = std::fs::read_to_string(root.join("docs/api.md")).unwrap();
        for e in ERRORS {
            let row = format!("| {} | `{}` |", e.status, e.code);
            assert!(api.contains(&row), "docs/api.md lacks {row}");
        }
        let models = std::fs::read_to_string(root.join("docs/models.md")).unwrap();
        for r in reasons() {
            assert!(
                models.contains(&format!("`{}`", r.code)),
                "docs/models.md lacks {}",
                r.code
            );
            assert!(
                models.contains(r.text_zh),
                "docs/models.md lacks {}",
                r.text_zh
            );
        }
    }

    #[test]
    fn reasons_cover_both_products_with_both_languages() {
        let all = reasons();
        for product in Product::ALL {
            assert_eq!(
                all.iter().filter(|r| r.product == product.as_str()).count(),
                catalogue::of(*product).len()
            );
        }
        assert!(all
            .iter()
            .all(|r| !r.text_en.is_empty() && !r.text_zh.is_empty()));
    }
}
