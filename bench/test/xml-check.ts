// A strict enough well-formedness check for the SVG the benchmark writes (no XML parser among
// the dependencies, and the chart is the only XML we make): one root, every tag closed in
// order, attributes quoted and unique, text and attribute values free of raw < and stray &.
// Returns the problems found (none: well-formed) and the elements seen.

const name = '[A-Za-z_][A-Za-z0-9_.:-]*';
const attribute = new RegExp(`\\s+(${name})="([^"<]*)"`, 'gy');
const entity = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  // Index of the enclosing element in the returned list (null: the root).
  readonly parent: number | null;
}

function checkText(text: string, where: string, problems: string[]) {
  if (text.replace(entity, '').includes('&')) problems.push(`stray & in ${where}`);
  if (text.includes('<')) problems.push(`raw < in ${where}`);
}

interface Tag {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly self_closing: boolean;
}

function parseTag(tag: string, problems: string[]): Tag {
  const head = new RegExp(`^<(${name})`).exec(tag);
  if (head?.[1] === undefined) {
    problems.push(`bad tag ${tag.slice(0, 40)}`);
    return { name: '?', attributes: {}, self_closing: false };
  }
  const attributes: Record<string, string> = {};
  attribute.lastIndex = head[0].length;
  let end = head[0].length;
  for (let match = attribute.exec(tag); match !== null; match = attribute.exec(tag)) {
    const [, key, value] = match;
    if (key === undefined || value === undefined) break;
    if (key in attributes) problems.push(`attribute ${key} twice in <${head[1]}>`);
    attributes[key] = value;
    checkText(value, `attribute ${key}`, problems);
    end = attribute.lastIndex;
  }
  const rest = tag.slice(end);
  if (rest !== '>' && rest !== '/>' && rest.trim() !== '>' && rest.trim() !== '/>')
    problems.push(`unparsed attributes in <${head[1]}>: ${rest.slice(0, 40)}`);
  return { name: head[1], attributes, self_closing: rest.trim() === '/>' };
}

export function checkXml(document: string): { problems: string[]; elements: XmlElement[] } {
  const problems: string[] = [];
  const elements: XmlElement[] = [];
  const open: number[] = [];
  let roots = 0;
  const body = document.replace(/^<\?xml[^>]*\?>\s*/, '');
  const tokens = body.split(/(<[^>]*>)/);
  for (const token of tokens) {
    if (token === '') continue;
    if (!token.startsWith('<')) {
      if (open.length === 0 && token.trim() !== '') problems.push('text outside the root');
      checkText(token, 'text', problems);
      continue;
    }
    if (token.startsWith('</')) {
      const closing = token.slice(2, -1).trim();
      const index = open.pop();
      const expected = index === undefined ? undefined : elements[index]?.name;
      if (closing !== expected) problems.push(`</${closing}> closes <${expected}>`);
      continue;
    }
    const element = parseTag(token, problems);
    if (open.length === 0) roots += 1;
    elements.push({ name: element.name, attributes: element.attributes, parent: open.at(-1) ?? null });
    if (!element.self_closing) open.push(elements.length - 1);
  }
  if (open.length > 0) problems.push(`unclosed: ${open.map((index) => elements[index]?.name).join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return { problems, elements };
}
