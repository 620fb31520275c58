//! Choosing the energy site: the preselected one, the only one, or the user's pick from a list.

use std::io::{BufRead, Write};

use powerwall_gateway::cloud::EnergySite;

use super::console::Console;
use super::error::SetupError;

/// Invalid answers accepted before the site choice gives up.
pub const MAX_SITE_ANSWERS: usize = 3;

/// One line describing a site: id, name, kind and gateway.
pub fn describe(site: &EnergySite) -> String {
    let mut text = site.id.to_string();
    if let Some(name) = site.site_name.as_deref().filter(|name| !name.is_empty()) {
        text.push_str(&format!(" \"{name}\""));
    }
    // The Fleet API's product list names neither kind nor gateway: then no parentheses.
    let mut details = Vec::new();
    if !site.resource_type.is_empty() {
        details.push(site.resource_type.clone());
    }
    if let Some(gateway) = site.gateway_id.as_deref().filter(|id| !id.is_empty()) {
        details.push(format!("gateway {gateway}"));
    }
    if !details.is_empty() {
        text.push_str(&format!(" ({})", details.join(", ")));
    }
    text
}

/// The site an answer names: its number in the printed list (1-based) or its site id.
pub fn parse_choice<'a>(answer: &str, sites: &'a [EnergySite]) -> Option<&'a EnergySite> {
    let number: u64 = answer.trim().parse().ok()?;
    let by_position = usize::try_from(number)
        .ok()
        .filter(|position| (1..=sites.len()).contains(position))
        .map(|position| &sites[position - 1]);
    by_position.or_else(|| sites.iter().find(|site| site.id == number))
}

/// Picks the site: `preselected` must be in the list; a single site is taken; otherwise the
/// user chooses (when `interactive`), with at most [`MAX_SITE_ANSWERS`] invalid answers.
pub async fn pick_site<R, W>(
    console: &mut Console<R, W>,
    sites: &[EnergySite],
    preselected: Option<u64>,
    interactive: bool,
) -> Result<EnergySite, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let known = || {
        sites
            .iter()
            .map(|site| site.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if sites.is_empty() {
        return Err(SetupError::NoSite);
    }
    if let Some(id) = preselected {
        return sites
            .iter()
            .find(|site| site.id == id)
            .cloned()
            .ok_or_else(|| {
                SetupError::SiteChoice(format!(
                    "energy site {id} (--siteid / PW_SITEID) is not in this account; its sites \
                     are {}",
                    known()
                ))
            });
    }
    if let [only] = sites {
        console.say(format!("One energy site: {}", describe(only)))?;
        return Ok(only.clone());
    }
    if !interactive {
        return Err(SetupError::SiteChoice(format!(
            "this account has {} energy sites ({}) and none was chosen",
            sites.len(),
            known()
        )));
    }
    console.say("This account has several energy sites:")?;
    for (position, site) in sites.iter().enumerate() {
        console.say(format!("  {}) {}", position + 1, describe(site)))?;
    }
    for _ in 0..MAX_SITE_ANSWERS {
        let prompt = format!("Choose a site [1-{}] or type its id: ", sites.len());
        let answer = console.ask(&prompt).await?;
        match parse_choice(&answer, sites) {
            Some(site) => return Ok(site.clone()),
            None => console.say(format!("  {answer:?} is not one of the sites listed."))?,
        }
    }
    Err(SetupError::TooManyTries("site choice", MAX_SITE_ANSWERS))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn site(id: u64, name: &str) -> EnergySite {
        EnergySite {
            id,
            resource_type: "battery".to_owned(),
            site_name: Some(name.to_owned()),
            gateway_id: Some(format!("GW-{id}")),
        }
    }

    fn sites() -> Vec<EnergySite> {
        vec![site(111, "Home"), site(222, "Cabin")]
    }

    fn console(script: &str) -> Console<Cursor<Vec<u8>>, Vec<u8>> {
        Console::new(Cursor::new(script.as_bytes().to_vec()), Vec::new())
    }

    #[test]
    fn a_choice_is_a_list_number_or_a_site_id() {
        let sites = sites();
        assert_eq!(parse_choice("2", &sites).map(|s| s.id), Some(222));
        assert_eq!(parse_choice(" 111 ", &sites).map(|s| s.id), Some(111));
        assert_eq!(parse_choice("3", &sites), None);
        assert_eq!(parse_choice("0", &sites), None);
        assert_eq!(parse_choice("cabin", &sites), None);
    }

    #[test]
    fn a_site_reads_as_id_name_kind_and_gateway() {
        assert_eq!(
            describe(&site(111, "Home")),
            "111 \"Home\" (battery, gateway GW-111)"
        );
        let bare = EnergySite {
            id: 5,
            resource_type: String::new(),
            site_name: None,
            gateway_id: None,
        };
        assert_eq!(describe(&bare), "5");
    }

    #[tokio::test]
    async fn invalid_answers_are_asked_again_then_accepted() {
        let mut console = console("9\nnope\n2\n");
        let chosen = pick_site(&mut console, &sites(), None, true).await.unwrap();
        assert_eq!(chosen.id, 222);
        let printed = String::from_utf8(console.into_output()).unwrap();
        assert!(printed.contains("  1) 111 \"Home\""), "{printed}");
        assert!(
            printed.contains("\"nope\" is not one of the sites"),
            "{printed}"
        );
    }

    #[tokio::test]
    async fn the_re_asking_is_bounded() {
        let mut console = console("x\ny\nz\n2\n");
        let err = pick_site(&mut console, &sites(), None, true)
            .await
            .unwrap_err();
        assert!(matches!(err, SetupError::TooManyTries(_, MAX_SITE_ANSWERS)));
    }

    #[tokio::test]
    async fn a_preselected_site_must_exist_and_asks_nothing() {
        let mut console = console("");
        let chosen = pick_site(&mut console, &sites(), Some(111), true)
            .await
            .unwrap();
        assert_eq!(chosen.id, 111);
        let err = pick_site(&mut console, &sites(), Some(5), true)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("111, 222"), "{err}");
    }

    #[tokio::test]
    async fn one_site_is_taken_and_several_need_a_choice_without_questions() {
        let mut console = console("");
        let only = [site(7, "Only")];
        assert_eq!(
            pick_site(&mut console, &only, None, false)
                .await
                .unwrap()
                .id,
            7
        );
        let err = pick_site(&mut console, &sites(), None, false)
            .await
            .unwrap_err();
        assert!(matches!(err, SetupError::SiteChoice(_)));
        let err = pick_site(&mut console, &[], None, true).await.unwrap_err();
        assert!(matches!(err, SetupError::NoSite));
    }
}
