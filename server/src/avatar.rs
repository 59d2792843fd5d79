//! Avatars drawn locally: a self-hosted audit log must not leak who looks at
//! whom to a third-party avatar service, and must work offline.

/// A GitHub-style identicon for `key`: a 5×5 grid mirrored left to right in
/// one colour on a light background. Equal keys give identical SVG text, so
/// responses can be cached forever.
pub fn identicon_svg(key: &str) -> String {
    let hash = fnv1a(key.as_bytes());
    // The low 15 bits choose the cells, the next ones the colour, so that
    // the shape and the colour vary independently.
    let cells = (hash & 0x7FFF) as u32;
    let hue = ((hash >> 16) % 360) as f64;
    let saturation = 0.45 + ((hash >> 32) % 20) as f64 / 100.0;
    let lightness = 0.45 + ((hash >> 40) % 12) as f64 / 100.0;
    let (r, g, b) = hsl_to_rgb(hue, saturation, lightness);

    let mut path = String::new();
    let mut filled = 0;
    for row in 0..5 {
        for col in 0..3 {
            if cells >> (row * 3 + col) & 1 == 1 {
                filled += 1;
                path.push_str(&cell(col, row));
                if col < 2 {
                    path.push_str(&cell(4 - col, row));
                }
            }
        }
    }
    // An empty grid reads as a broken image; draw a centre bar instead.
    if filled == 0 {
        for row in 1..4 {
            path.push_str(&cell(2, row));
        }
    }

    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 5 5" width="64" height="64" shape-rendering="crispEdges">"#,
            r##"<rect width="5" height="5" fill="#f0f0f0"/>"##,
            r##"<path fill="#{:02x}{:02x}{:02x}" d="{}"/>"##,
            "</svg>"
        ),
        r, g, b, path
    )
}

fn cell(x: u32, y: u32) -> String {
    format!("M{x} {y}h1v1h-1z")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    // FNV's low bits mix poorly for short keys; finish like SplitMix64.
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> (u8, u8, u8) {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match h as u32 {
        0..60 => (c, x, 0.0),
        60..120 => (x, c, 0.0),
        120..180 => (0.0, c, x),
        180..240 => (0.0, x, c),
        240..300 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let to_byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (to_byte(r), to_byte(g), to_byte(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_picture() {
        assert_eq!(identicon_svg("usr_01H8"), identicon_svg("usr_01H8"));
    }

    #[test]
    fn different_keys_differ() {
        let pictures: std::collections::HashSet<String> =
            (0..200).map(|i| identicon_svg(&format!("usr_{i}"))).collect();
        assert_eq!(pictures.len(), 200);
        assert_ne!(identicon_svg("José Álvarez"), identicon_svg("Jose Alvarez"));
    }

    #[test]
    fn looks_like_a_self_contained_svg() {
        for key in ["", "a", "usr_01HZX3", "Zoë Müller"] {
            let svg = identicon_svg(key);
            assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
            assert!(svg.contains(r#"viewBox="0 0 5 5""#));
            assert!(svg.contains(r#"shape-rendering="crispEdges""#));
            assert!(svg.contains(r##"fill="#f0f0f0""##));
            // Only the SVG namespace, which is a name, not a fetch.
            assert_eq!(svg.matches("http").count(), 1, "{svg}");
            assert!(!svg.contains("href") && !svg.contains("<script"));
            assert!(svg.contains(" d=\"M"), "something is drawn: {svg}");
        }
    }

    #[test]
    fn cells_are_mirrored() {
        let svg = identicon_svg("mirror");
        let d = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        let cells: Vec<(u32, u32)> = d
            .split('z')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let mut it = s.trim_start_matches('M').split(['h', ' ']);
                (it.next().unwrap().parse().unwrap(), it.next().unwrap().parse().unwrap())
            })
            .collect();
        for &(x, y) in &cells {
            assert!(x < 5 && y < 5);
            assert!(cells.contains(&(4 - x, y)), "({x},{y}) has no mirror");
        }
    }

    #[test]
    fn colours_are_valid_hex() {
        assert_eq!(hsl_to_rgb(0.0, 1.0, 0.5), (255, 0, 0));
        assert_eq!(hsl_to_rgb(120.0, 1.0, 0.5), (0, 255, 0));
        assert_eq!(hsl_to_rgb(240.0, 1.0, 0.5), (0, 0, 255));
    }
}
