//! Obtaining the day's anonymous one-time telemetry token (a service: the anonymous connection
//! and the session; the token's state lives in the telemetry file, see `telemetry::DayToken`).
//!
//! Privacy Pass style, on the RFC 9497 VOPRF (ristretto255-SHA512):
//! 1. the day's public key is fetched on the anonymous connection (the same for everyone);
//! 2. the device draws a random 32-byte input, blinds it, and keeps the blinding state and an
//!    idempotency key before asking (so a retry after a crash or a lost answer repeats the same
//!    request, and the server replays its answer);
//! 3. the session asks for the blind evaluation (`POST /v1/telemetry/tokens`; once a day per
//!    guardian);
//! 4. the device checks the server's proof against the anonymously fetched key and unblinds:
//!    the PRF output with the input is the token. The server never saw the input, so the token
//!    it later finds in a report cannot be linked to this request.

use crate::auth::Auth;
use crate::client::{Client, HttpError};
use crate::error::{Error, Result};
use crate::telemetry::{DayToken, Telemetry, TokenStage};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use kidplan_api::Day;
use kidplan_api::paths;
use kidplan_api::telemetry::{TokenKey, TokenRequest, TokenResponse};
use rand_core_06::OsRng;
use reqwest::Method;
use voprf::{EvaluationElement, Group, Proof, Ristretto255, VoprfClient};

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>> {
    B64.decode(s.as_bytes())
        .map_err(|_| Error::Http(HttpError::Decode))
}

/// Makes sure the current day has its token (best effort: a failure leaves it for the next
/// sync). Does nothing when telemetry is off or the token is ready or unavailable.
pub async fn obtain(telemetry: &Telemetry, client: &Client, auth: &Auth) -> Result<()> {
    let Some((day, token)) = telemetry.token_today() else {
        return Ok(());
    };
    let token = match token {
        Some(t) => t,
        None => prepare(telemetry, client, day).await?,
    };
    let TokenStage::Asked {
        idempotency_key,
        blinded_element,
        client_state,
    } = &token.stage
    else {
        return Ok(());
    };
    let body = serde_json::to_string(&TokenRequest {
        day,
        blinded_element: blinded_element.clone(),
    })?;
    let http = auth.client();
    let answer: std::result::Result<TokenResponse, Error> = auth
        .call(|t| {
            let (b, key) = (body.clone(), idempotency_key);
            async move {
                http.json(
                    Method::POST,
                    paths::TELEMETRY_TOKENS,
                    Some(&t),
                    Some(key),
                    Some(b),
                )
                .await
            }
        })
        .await;
    let stage = match answer {
        Ok(r) => match finish(&token, client_state, &r) {
            Ok(output) => TokenStage::Ready { output },
            Err(_) => {
                tracing::warn!("telemetry token proof did not check against the public key");
                TokenStage::Unavailable
            }
        },
        // This guardian's token for the day went elsewhere (another device), or the day is
        // past: none today. (401 is the session's matter; 408 and 429 are worth a retry.)
        Err(Error::Http(HttpError::Status { status, .. }))
            if (400..500).contains(&status) && !matches!(status, 401 | 408 | 429) =>
        {
            TokenStage::Unavailable
        }
        Err(e) => return Err(e),
    };
    telemetry.store_token(DayToken { stage, ..token });
    Ok(())
}

/// Fetches the day's key anonymously, draws the input and blinds it; keeps all of it before
/// anything is sent.
async fn prepare(telemetry: &Telemetry, client: &Client, day: Day) -> Result<DayToken> {
    let key: TokenKey = client
        .get_anonymous(&paths::fill(
            paths::TELEMETRY_KEY,
            &[("day", &day.to_string())],
        ))
        .await?;
    let input: [u8; 32] = rand::random();
    let blind = VoprfClient::<Ristretto255>::blind(&input, &mut OsRng)
        .map_err(|_| Error::Bug("blinding a telemetry token"))?;
    let token = DayToken {
        day,
        input: b64(&input),
        public_key: key.public_key,
        stage: TokenStage::Asked {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            blinded_element: b64(&blind.message.serialize()),
            client_state: b64(&blind.state.serialize()),
        },
    };
    telemetry.store_token(token.clone());
    Ok(token)
}

/// Checks the server's proof against the anonymously fetched key and unblinds the answer.
fn finish(token: &DayToken, client_state: &str, r: &TokenResponse) -> Result<String> {
    let bad = || Error::Http(HttpError::Decode);
    let state =
        VoprfClient::<Ristretto255>::deserialize(&unb64(client_state)?).map_err(|_| bad())?;
    let eval = EvaluationElement::<Ristretto255>::deserialize(&unb64(&r.evaluated_element)?)
        .map_err(|_| bad())?;
    let proof = Proof::<Ristretto255>::deserialize(&unb64(&r.proof)?).map_err(|_| bad())?;
    let pk = Ristretto255::deserialize_elem(&unb64(&token.public_key)?).map_err(|_| bad())?;
    let output = state
        .finalize(&unb64(&token.input)?, &eval, &proof, pk)
        .map_err(|_| bad())?;
    Ok(b64(&output))
}
