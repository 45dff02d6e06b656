//! Security tokens (`stsgate::token`) and api tickets (`stsgate::api::tickets`): what a client
//! sends back as `x-oss-security-token`, `SecurityToken`, `x-cos-security-token`, `X-TC-Token`
//! or in a `/v1/credentials/t/<ticket>` URL. Opening any string must refuse or give back exactly
//! what was sealed; sealing then opening any claims gives them back.
#![no_main]

use libfuzzer_sys::arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use stsgate::api::tickets::{Ticket, TicketError, TicketKey};
use stsgate::datadir::MasterKey;
use stsgate::token::{Claims, TokenError, TokenKey};
use stsgate_fuzz::{now, NOW};
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    let master = MasterKey(Zeroizing::new([7u8; 32]));
    let tokens = TokenKey::new(&master);
    let tickets = TicketKey::new(&master);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        // Any string, as a token and as a ticket.
        0 => {
            let text = String::from_utf8_lossy(rest);
            let _ = tokens.open(&text, now());
            let _ = tickets.open(&text, NOW);
            if let Some(ticket) = text.strip_prefix(stsgate::api::tickets::USE_PATH) {
                let _ = tickets.open(ticket, NOW);
            }
        }
        // Claims chosen by the input: sealed, opened, and opened again after an edit.
        1 => {
            let mut u = Unstructured::new(rest);
            let Ok(claims) = claims(&mut u) else {
                return;
            };
            let token = tokens.seal(&claims);
            match tokens.open(&token, now()) {
                Ok(opened) => {
                    assert!(claims.exp > NOW);
                    assert!(opened == claims, "{claims:?} came back as {opened:?}");
                }
                Err(TokenError::Expired) => assert!(claims.exp <= NOW),
                Err(TokenError::Invalid) => panic!("a sealed token does not open: {claims:?}"),
            }
            // A token with one character changed never opens to other claims, and is never
            // taken for a ticket.
            let edited = edit(&token, &mut u);
            if let Ok(opened) = tokens.open(&edited, now()) {
                assert!(opened == claims, "{edited:?} opened to {opened:?}");
            }
            assert_eq!(tickets.open(&token, NOW), Err(TicketError::Invalid));
        }
        // A ticket chosen by the input, likewise.
        _ => {
            let mut u = Unstructured::new(rest);
            let Ok(ticket) = ticket(&mut u) else {
                return;
            };
            let sealed = tickets.seal(&ticket);
            match tickets.open(&sealed, NOW) {
                Ok(opened) => {
                    assert!(ticket.exp > NOW);
                    assert!(opened == ticket, "{ticket:?} came back as {opened:?}");
                }
                Err(TicketError::Expired(opened)) => {
                    assert!(ticket.exp <= NOW);
                    assert!(*opened == ticket);
                }
                // Tickets longer than the 8 KiB looked at are refused.
                Err(TicketError::Invalid) => assert!(sealed.len() > 8 * 1024),
            }
            let edited = edit(&sealed, &mut u);
            match tickets.open(&edited, NOW) {
                Ok(opened) => assert!(opened == ticket, "{edited:?} opened to {opened:?}"),
                Err(TicketError::Expired(opened)) => assert!(*opened == ticket),
                Err(TicketError::Invalid) => {}
            }
            assert!(tokens.open(&sealed, now()).is_err());
        }
    }
});

/// `token` with one character replaced (position and character from the input).
fn edit(token: &str, u: &mut Unstructured) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    if let (Ok(at), Ok(c)) = (u.arbitrary::<usize>(), u.arbitrary::<char>()) {
        if !chars.is_empty() {
            let at = at % chars.len();
            chars[at] = c;
        }
    }
    chars.into_iter().collect()
}

fn claims(u: &mut Unstructured) -> Result<Claims> {
    Ok(Claims {
        ak: u.arbitrary()?,
        sk: u.arbitrary()?,
        iat: u.arbitrary()?,
        exp: match u.arbitrary()? {
            true => NOW + i64::from(u.arbitrary::<i16>()?),
            false => u.arbitrary()?,
        },
        role_arn: u.arbitrary()?,
        session_name: u.arbitrary()?,
        role_policy: u.arbitrary()?,
        session_policy: u.arbitrary()?,
        caller: u.arbitrary()?,
        vendor: match u.arbitrary::<u8>()? % 3 {
            0 => None,
            1 => Some("tencent".into()),
            _ => Some(String::arbitrary(u)?),
        },
    })
}

fn ticket(u: &mut Unstructured) -> Result<Ticket> {
    let mut claims = Map::new();
    for _ in 0..u.arbitrary_len::<(String, i64)>()?.min(8) {
        let value = match u.arbitrary::<u8>()? % 3 {
            0 => Value::String(u.arbitrary()?),
            1 => Value::from(u.arbitrary::<i64>()?),
            _ => Value::Bool(u.arbitrary()?),
        };
        claims.insert(u.arbitrary()?, value);
    }
    Ok(Ticket {
        caller: u.arbitrary()?,
        subject: u.arbitrary()?,
        claims,
        grant: u.arbitrary()?,
        format: u.arbitrary()?,
        iat: u.arbitrary()?,
        exp: NOW + i64::from(u.arbitrary::<i16>()?),
    })
}
