//! Following pages by the links servers give, never by building URLs: Okta's `Link` headers
//! (one header line per link, or several links joined by commas), Microsoft Graph's
//! `@odata.nextLink` (read by the connector from the body).

use reqwest::header::{HeaderMap, LINK};

/// The `rel="next"` URL among the `Link` headers, if any: the end of a list has none.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let is_next = params.split(';').any(|param| {
                let param = param.trim().to_ascii_lowercase();
                param == "rel=\"next\"" || param == "rel=next"
            });
            let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn the_next_link_is_found_on_separate_lines_or_joined_by_commas() {
        let mut separate = HeaderMap::new();
        separate.append(
            LINK,
            HeaderValue::from_static("<https://o/api/v1/users?limit=2>; rel=\"self\""),
        );
        separate.append(
            LINK,
            HeaderValue::from_static("<https://o/api/v1/users?after=abc&limit=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&separate).as_deref(),
            Some("https://o/api/v1/users?after=abc&limit=2")
        );
        let mut joined = HeaderMap::new();
        joined.insert(
            LINK,
            HeaderValue::from_static(
                "<https://o/a>; rel=\"self\", <https://o/b?after=x>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&joined).as_deref(), Some("https://o/b?after=x"));
        let mut last = HeaderMap::new();
        last.insert(
            LINK,
            HeaderValue::from_static("<https://o/a>; rel=\"self\""),
        );
        assert_eq!(next_link(&last), None);
    }
}
