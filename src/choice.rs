//! Named choices (conditions, kernels, devices, normalisation modes, recipes): each an enum
//! with one spelling per value, parsed with an error that lists the valid spellings.

/// A value that is not one of a choice's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{found}' (valid: {valid})")]
pub struct UnknownChoice {
    pub what: &'static str,
    pub found: String,
    pub valid: String,
}

/// An enum whose values have fixed spellings.
pub trait Choice: Sized + Copy + PartialEq + 'static {
    /// What the choice is called in messages ("condition", "kernel", …).
    const WHAT: &'static str;
    /// Every value with its spelling.
    const ALL: &'static [(&'static str, Self)];

    fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).unwrap_or("?")
    }

    fn parse(s: &str) -> Result<Self, UnknownChoice> {
        let s = s.trim();
        Self::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)).map(|(_, v)| *v).ok_or_else(|| UnknownChoice {
            what: Self::WHAT,
            found: s.to_string(),
            valid: Self::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        })
    }
}

/// `FromStr`, `Display` and string serde for a [`Choice`], so JSON and command lines spell
/// it the same way.
#[macro_export]
macro_rules! choice_traits {
    ($t:ty) => {
        impl std::str::FromStr for $t {
            type Err = $crate::choice::UnknownChoice;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t as $crate::choice::Choice>::parse(s)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($crate::choice::Choice::name(*self))
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t as $crate::choice::Choice>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Fruit {
        Apple,
        Pear,
    }
    impl Choice for Fruit {
        const WHAT: &'static str = "fruit";
        const ALL: &'static [(&'static str, Self)] = &[("apple", Fruit::Apple), ("pear", Fruit::Pear)];
    }
    crate::choice_traits!(Fruit);

    #[test]
    fn parses_spellings_and_lists_them_on_error() {
        assert_eq!("Pear".parse::<Fruit>(), Ok(Fruit::Pear));
        assert_eq!(Fruit::Apple.to_string(), "apple");
        let e = "peach".parse::<Fruit>().unwrap_err();
        assert_eq!(e.to_string(), "unknown fruit 'peach' (valid: apple, pear)");
        assert_eq!(serde_json::to_string(&Fruit::Pear).unwrap(), "\"pear\"");
        assert!(serde_json::from_str::<Fruit>("\"plum\"").is_err());
    }
}
