//! Server-rendered HTML pages (the patients' cancel link, the console): one layout in French, and the headers
//! every page carries — no caching (pages may show patient data), no referrer (addresses may carry secrets), a
//! strict Content-Security-Policy (scripts only from this server: the console's one script), no framing, no indexing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An HTML page and its status.
pub struct Page {
    pub status: StatusCode,
    pub title: &'static str,
    /// Trusted HTML (every piece of data in it is escaped when it is built).
    pub body: String,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
             <body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
            title = self.title,
            body = self.body
        );
        let mut response = (self.status, html).into_response();
        secure_headers(response.headers_mut());
        response
    }
}

/// The headers of every page.
pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(HEADER_ROBOTS, "noindex, nofollow");
}

const HEADER_ROBOTS: header::HeaderName = header::HeaderName::from_static("x-robots-tag");

/// Large type and large controls: pages are read on phones and tablets, by tired people.
pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;font-size:1.1rem;line-height:1.5;margin:0;\
    color:#1a1a1a;background:#fff}main{max-width:36rem;margin:0 auto;padding:1.5rem}h1{font-size:1.5rem}\
    dt{font-weight:bold;margin-top:.75rem}dd{margin:0}label{display:block;margin-top:1rem;font-weight:bold}\
    input{font-size:1.1rem;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid #555;border-radius:.3rem}\
    input:focus{outline:3px solid #ffbf47;outline-offset:1px}\
    .error{color:#8b0000;font-weight:bold}button{font-size:1.1rem;padding:.8rem 1.2rem;\
    margin-top:1rem;border:2px solid #8b0000;background:#8b0000;color:#fff;border-radius:.4rem;cursor:pointer}\
    button:focus{outline:3px solid #ffbf47;outline-offset:2px}";
